"""Training: the one loop every task runs through (``loop``), the one resumable checkpoint
(``checkpoint``) and the driver that joins them for a task's job (``fit``)."""
