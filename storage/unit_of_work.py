"""The SQL unit of work: one session and transaction shared by the repositories."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from storage.alert_ledger import SqlAlertLedger
from storage.alerts import SqlAlertRepository
from storage.deliveries import SqlDeliveryLedger
from storage.dialect import SqlDialect
from storage.ingest_runs import SqlIngestRuns
from storage.papers import SqlPaperRepository
from storage.reading_list import SqlReadingList, SqlShareLog
from storage.subscriptions import SqlSubscriptionRepository
from storage.vectors import SqlPaperVectors
from storage.votes import SqlVoteRepository


class SqlUnitOfWork:
    """One transaction over all repositories; commits on a clean exit, else rolls back."""

    def __init__(self, session_factory: sessionmaker[Session], dialect: SqlDialect) -> None:
        self._session_factory = session_factory
        self._dialect = dialect

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.papers = SqlPaperRepository(self.session, self._dialect)
        self.subscriptions = SqlSubscriptionRepository(self.session, self._dialect)
        self.deliveries = SqlDeliveryLedger(self.session, self._dialect)
        self.alerts = SqlAlertRepository(self.session, self._dialect)
        self.alert_ledger = SqlAlertLedger(self.session, self._dialect)
        self.reading_list = SqlReadingList(self.session, self._dialect)
        self.shares = SqlShareLog(self.session, self._dialect)
        self.vectors = SqlPaperVectors(self.session, self._dialect)
        self.votes = SqlVoteRepository(self.session, self._dialect)
        self.ingest_runs = SqlIngestRuns(self.session, self.papers)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
