"""The runner the scripts of tests/py share: runs each test function, prints one line per
test ("ok   name", "skip name" for a test that returned "skipped", or "FAIL name" with its
traceback) and a closing "N passed, N failed, N skipped" line, and gives the exit status
(1 if any failed).
"""

import traceback


def main(tests):
    """Runs `tests` (functions taking no argument); returns the exit status."""
    passed = failed = skipped = 0
    for test in tests:
        try:
            outcome = test()
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAIL {test.__name__}")
            traceback.print_exc()
            continue
        if outcome == "skipped":
            skipped += 1
            print(f"skip {test.__name__}")
        else:
            passed += 1
            print(f"ok   {test.__name__}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0
