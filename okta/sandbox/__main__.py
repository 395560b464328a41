from okta.sandbox.cli import main

main()
