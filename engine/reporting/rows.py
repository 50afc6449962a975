"""The report's figures as rows of display strings, shared by the text and HTML renderings so
that both show every figure the same way (the JSON keeps the exact numbers)."""

from datetime import datetime

from complaintflow.engine.reporting.kpi import Bucket, Count, KpiReport

NO_DATA = "n/a"
TOP_AGENTS = 10
Rows = list[list[str]]


def duration(seconds: float | None) -> str:
    """Seconds as the largest two units: 42.5s, 3m 05s, 2h 48m, 1d 02h."""
    if seconds is None:
        return NO_DATA
    sign, s = ("-", -seconds) if seconds < 0 else ("", seconds)
    if s < 60:
        return f"{sign}{s:.1f}s"
    days, rest = divmod(round(s), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {secs:02d}s"


def share(value: float | None) -> str:
    return NO_DATA if value is None else f"{value * 100:.1f}%"


def score(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.2f}"


def nps(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:+.1f}"


def of(count: int, total: int, rate: float | None) -> str:
    """A rate with the counts it is made of: '89.5% (358 of 400)'."""
    return f"{share(rate)} ({count} of {total})"


def period(report: KpiReport) -> str:
    def moment(at: datetime | None, unbounded: str) -> str:
        return unbounded if at is None else at.isoformat()

    p = report.period
    return f"complaints received from {moment(p.since, 'the start')} until {moment(p.until, 'now')}"


def headline(report: KpiReport) -> Rows:
    """The one-line figures, in the order the service reports list them."""
    k, fr, h, a = report.counts, report.first_response, report.handling, report.agents
    low_share = report.low_score_revisited_48h_share
    return [
        ["complaints received", str(k.received)],
        [
            "first response mean / p50 / p90",
            f"{duration(fr.mean_s)} / {duration(fr.p50_s)} / {duration(fr.p90_s)}",
        ],
        [f"first response within {duration(fr.target_s)}", share(fr.within_target_share)],
        ["handling mean / longest", f"{duration(h.mean_s)} / {duration(h.max_s)}"],
        ["overdue share", of(k.overdue, k.received, report.overdue_share)],
        ["escalations", str(report.escalations.total)],
        ["slowest department", report.slowest_department or NO_DATA],
        ["resolution rate", of(k.resolved, k.received, report.resolution_rate)],
        ["closed-loop rate", of(k.closed_loop, k.resolved, report.closed_loop_rate)],
        ["CSAT mean", f"{score(report.csat.mean)} ({report.csat.responses} answers)"],
        ["NPS", f"{nps(report.nps)} ({k.nps_responses} answers)"],
        ["repeat rate", of(k.reopened, k.resolved_ever, report.repeat_rate)],
        [
            "low scores followed up within 48 h",
            of(k.low_score_followed_up, k.low_score_cases, low_share),
        ],
        ["agents (mean complaints each)", f"{a.total} ({score(a.mean_complaints)})"],
    ]


def counts(values: dict[str, Count]) -> Rows:
    return [[name, str(c.count), share(c.share)] for name, c in values.items()]


def categories(report: KpiReport) -> Rows:
    """Volume and handling time (of the resolved complaints) per category."""
    rows = []
    for name, c in report.volume.by_category.items():
        h = report.handling.by_category.get(name)
        rows.append(
            [
                name,
                str(c.count),
                share(c.share),
                str(h.resolved if h else 0),
                duration(h.mean_s if h else None),
                duration(h.max_s if h else None),
            ]
        )
    return rows


def first_response(report: KpiReport) -> Rows:
    fr = report.first_response
    return [
        ["responded", str(fr.responded)],
        ["never answered, deadline breached", str(fr.unanswered_missed)],
        ["mean", duration(fr.mean_s)],
        ["p50", duration(fr.p50_s)],
        ["p90", duration(fr.p90_s)],
        [f"within {duration(fr.target_s)}", share(fr.within_target_share)],
    ]


def bucket_label(bucket: Bucket) -> str:
    if bucket.to_s is None:
        return f"over {duration(bucket.from_s)}"
    return f"{duration(bucket.from_s)} to {duration(bucket.to_s)}"


def histogram(report: KpiReport) -> Rows:
    return [[bucket_label(b), str(b.complaints)] for b in report.first_response.histogram]


def departments(report: KpiReport) -> Rows:
    return [
        [
            name + (" (slowest)" if name == report.slowest_department else ""),
            str(d.requests),
            str(d.answered),
            duration(d.mean_s),
            duration(d.p90_s),
            share(d.within_sla_share),
        ]
        for name, d in report.departments.items()
    ]


def csat(report: KpiReport) -> Rows:
    return [[str(value), str(answers)] for value, answers in report.csat.distribution.items()]


def days(report: KpiReport) -> Rows:
    return [[day.isoformat(), str(count)] for day, count in report.volume.by_day.items()]


def agents(report: KpiReport) -> Rows:
    """The busiest agents; the rest are counted on a last row (the JSON lists them all)."""
    a = report.agents
    rows = [[agent, str(n)] for agent, n in list(a.by_agent.items())[:TOP_AGENTS]]
    if a.total > len(rows):
        rows.append([f"... {a.total - len(rows)} more (the JSON report lists all)", ""])
    return rows


CATEGORY_HEADER = ["category", "count", "share", "resolved", "handling mean", "handling max"]
DEPARTMENT_HEADER = ["department", "requests", "answered", "mean", "p90", "within SLA"]
