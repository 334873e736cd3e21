from agenttail.cli import main

main()
