"""Micro-benchmark of the pure core: decoder events/s and decide() decisions/s.

Runs on the demo's realistic event mix (tests are never timed; this prints figures):

    .venv/bin/python -m benchmarks.pure_engine [--complaints 5000] [--repeat 3]
"""

import argparse
import statistics
import time

from complaintflow.engine.bootstrap import load_workflow
from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.decision import decide
from complaintflow.engine.core.decoding import decode_event
from complaintflow.engine.core.events import InboundEvent
from complaintflow.engine.core.outcome import Refusal
from complaintflow.engine.entrypoints.cli.sample_day import sample_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workflow = load_workflow()
    lines = sample_day(complaints=args.complaints, seed=11)
    print(f"event mix: {len(lines)} lines for {args.complaints} complaints (sample_day seed 11)")

    decode_rates, decide_rates = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        decoded = [decode_event(line) for line in lines]
        decode_rates.append(len(lines) / (time.perf_counter() - started))
        events: list[InboundEvent] = [e for e in decoded if not isinstance(e, Refusal)]

        complaints: dict[str, Complaint] = {}
        applied = refused = 0
        started = time.perf_counter()
        for event in events:
            outcome = decide(complaints.get(event.complaint_id), event, event.occurred_at, workflow)
            if outcome.complaint is not None:
                complaints[outcome.complaint.complaint_id] = outcome.complaint
                applied += 1
            else:
                refused += 1
        decide_rates.append(len(events) / (time.perf_counter() - started))

    print(f"decisions: {applied} applied, {refused} refused or unchanged per run")
    print(
        f"decoder:   {statistics.median(decode_rates):,.0f} events/s "
        f"(median of {args.repeat}; min {min(decode_rates):,.0f}, max {max(decode_rates):,.0f})"
    )
    print(
        f"decide():  {statistics.median(decide_rates):,.0f} decisions/s "
        f"(median of {args.repeat}; min {min(decide_rates):,.0f}, max {max(decide_rates):,.0f})"
    )


if __name__ == "__main__":
    main()
