"""Problems: MDKP, MIS, QAP, TSP, MSP — instances in their own terms, generators and readers."""
