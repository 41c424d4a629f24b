"""What the tests put in place of the rest of the fediverse.

- `remote`: `RemoteServer`, other servers on 127.0.0.1 (actors with real keys, documents, inboxes
  that record and, when asked, verify what they are sent; chosen statuses and delays);
- `rows`: remote accounts, statuses and follows written straight into the store, as the
  federation layer writes them, and rows read back;
- `dns`: DNS servers on 127.0.0.1;
- `instance`: the instance under test as the fakes meet it;
- `fixtures`: their pytest fixtures, for `pytest_plugins = ("tests.fakes.fixtures",)`.
"""
