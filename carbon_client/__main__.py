from carbon_client.cli import main

raise SystemExit(main())
