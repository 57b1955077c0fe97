from chatops.cli.main import main

raise SystemExit(main())
