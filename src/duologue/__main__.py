from duologue.cli import main

main()
