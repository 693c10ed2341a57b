from zalodesk.api.cli import main

raise SystemExit(main())
