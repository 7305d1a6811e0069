import sys

from relay_cli.main import main

sys.exit(main())
