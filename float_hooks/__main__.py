from __future__ import annotations

from float_hooks.main import main

raise SystemExit(main())
