from post3.cli import main

main()
