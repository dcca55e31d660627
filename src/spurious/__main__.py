from spurious.cli import main

main()
