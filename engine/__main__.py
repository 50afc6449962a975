from complaintflow.engine.entrypoints.cli.main import main

main()
