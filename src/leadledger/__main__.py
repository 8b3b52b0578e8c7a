from leadledger.cli import main

main()
