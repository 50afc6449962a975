from complaintflow.engine.cli import main

main()
