"""How report figures read to a person, shared by the text and HTML renderings so that both
show a figure the same way (the JSON keeps the exact numbers)."""

from datetime import datetime

from complaintflow.engine.kpi import Count, KpiReport

NO_DATA = "n/a"


def duration(seconds: float | None) -> str:
    """Seconds as the largest two units: 42.5s, 3m 05s, 2h 48m, 1d 02h."""
    if seconds is None:
        return NO_DATA
    sign, s = ("-", -seconds) if seconds < 0 else ("", seconds)
    if s < 60:
        return f"{sign}{s:.1f}s"
    whole = round(s)
    days, rest = divmod(whole, 86400)
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


def counted(c: Count) -> tuple[str, str]:
    return str(c.count), share(c.share)


def period(report: KpiReport) -> str:
    def moment(at: datetime | None, unbounded: str) -> str:
        return unbounded if at is None else at.isoformat()

    p = report.period
    return f"complaints received from {moment(p.since, 'the start')} until {moment(p.until, 'now')}"


def headline(report: KpiReport) -> list[tuple[str, str]]:
    """The one-line figures, in the order the service reports list them."""
    k, fr = report.counts, report.first_response
    return [
        ("complaints received", str(k.received)),
        (
            "first response mean / p50 / p90",
            f"{duration(fr.mean_s)} / {duration(fr.p50_s)} / {duration(fr.p90_s)}",
        ),
        (f"first response within {duration(fr.target_s)}", share(fr.within_target_share)),
        (
            "handling mean / longest",
            f"{duration(report.handling.mean_s)} / {duration(report.handling.max_s)}",
        ),
        ("overdue share", of(k.overdue, k.received, report.overdue_share)),
        ("escalations", str(report.escalations.total)),
        ("slowest department", report.slowest_department or NO_DATA),
        ("resolution rate", of(k.resolved, k.received, report.resolution_rate)),
        ("closed-loop rate", of(k.closed_loop, k.resolved, report.closed_loop_rate)),
        ("CSAT mean", f"{score(report.csat.mean)} ({report.csat.responses} answers)"),
        ("NPS", f"{nps(report.nps)} ({k.nps_responses} answers)"),
        ("repeat rate", of(k.reopened, k.resolved_ever, report.repeat_rate)),
        (
            "low scores followed up within 48 h",
            of(k.low_score_followed_up, k.low_score_cases, report.low_score_revisited_48h_share),
        ),
        (
            "agents (mean complaints each)",
            f"{report.agents.total} ({score(report.agents.mean_complaints)})",
        ),
    ]
