"""``python -m mmhelpers.embedded [--quick]``: build (or verify) the cached embedded dataset."""

from .store import main

raise SystemExit(main())
