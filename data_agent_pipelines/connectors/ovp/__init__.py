"""The toolkit the online-video-platform connectors share: one API client, one paginator, one page store, one sync rule.

- `client.ApiClient` sends every platform call through `net.HttpClient` (which retries 5xx with backoff,
  honouring `Retry-After`), adds the source's credentials (`auth.Auth`), paces calls by one budget shared by the
  calls in flight, learnt from the platform's rate-limit headers and its 429s (`rate_limit`), holds the whole fetch
  to its deadline, renews an expired token once, and turns a rejected credential into a `SourceAuthError` that
  names the platform and the setting to check (`platform`) — never the credential's value.
- `paging.collect` walks a list endpoint page by page, as a connector declares it (`Paging`: page numbers, offsets
  or next links; page size; the platform's result cap, worked around by windowing on a sort key). It hands every
  item to a `store.PageStore` (one JSON document a line in the run's work folder), so memory stays flat.
- A runaway paging loop (the same page twice, more pages than the announced total allows, the hard page cap)
  stops paging and marks the fetch incomplete (`Fetched.complete=False`): what was read is imported, nothing is
  unpublished or deleted, and the result says why. Any failed call (after net's retries) fails the whole import:
  a half-read origin is never mistaken for the whole, and the next run starts over.
- `sweep.Sweep` decides between a full fetch and an incremental one (changes since the last good import, where the
  API has an updated-since filter). A full sweep runs at least every `full_sweep_every` (default 1d) so deletions
  are still seen; an incremental fetch is incomplete by nature, so it never removes anything.
"""
