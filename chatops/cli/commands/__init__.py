"""What the CLI's subcommands do, and what they share (rendering, exit codes, who acts).
The parser (`chatops.cli`) imports these when a command runs, never the other way."""
