import sys

from somatrace.checks.monitoring.files import main

sys.exit(main())
