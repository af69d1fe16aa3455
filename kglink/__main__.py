from kglink.cli import main

main()
