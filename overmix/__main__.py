from overmix.cli import main

raise SystemExit(main())
