"""The privacy gate: find sensitive columns (``init``), stop schema drift before any data
moves (``drift``), audit the finished copy for leaked source values (``audit``) and report
what happened (``report``)."""
