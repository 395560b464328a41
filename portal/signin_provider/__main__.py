from portal.signin_provider import main

main()
