"""`python -m gan_augment` runs the `gan-augment` command line."""

from gan_augment.cli import main

raise SystemExit(main())
