from gatehouse.signin_provider import main

main()
