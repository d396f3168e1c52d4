"""Media RSS / RSS 2.0 / Atom feeds -> `model.Asset` values, one item at a time.

Pure Python: no Dagster, no database, no HTTP. `feed.parse_feed(path)` checks the raw body (`document`: entity
declarations refused before any parser sees it, encodings), then streams it through
`lxml.etree.iterparse`; a document that is not well-formed is finished by feedparser. Both readers (`elements`
for lxml, `lenient` for feedparser) turn an item into the same level-by-level values, and one piece of code,
`rules.build_asset`, maps those to an asset, with the value parsers of `values`. `digest` gives an item the
origin digest that lets an import recognise it unchanged; `connector` is the `mrss` source kind.

Rules where a feed can say several things (documented here once, tested in test_mrss.py):

- Precedence: for every field, the most specific level that carries it wins: `media:content` (of the full
  edition, the `isDefault` one first) > `media:group` > item > channel. Channel-level media elements, `itunes:*`
  and `<image>` seen before the first item apply as defaults to every item. The title is the item's own
  `<title>` first (then `media:title`, then `itunes:title`).
- Editions: every playable `media:content` (in a `media:group` or loose in the item) is a rendition of the `full`
  edition, except `expression="sample"` ones, which form the `trailer` edition. `<enclosure>` (RSS) or
  `<link rel="enclosure">` (Atom) count only when the item has no `media:content`. `media:content` with
  `medium="image"` (or an image MIME type) is an image (role `still`), not a stream. `media:player` is not a
  stream: its url lands in `custom["player_url"]`.
- Subtitles: `media:subTitle` (`href`, `lang`; the `type` becomes the label) at any level. `media:text` is
  transcript text, not a subtitle file: it is kept in `custom["media:text"]` like any other simple element.
- Images: `media:thumbnail` -> role `thumbnail`; `itunes:image` (item, then channel) or the channel `<image>`
  -> role `poster`, only when the item has no other image.
- Tags: `media:keywords` and `itunes:keywords` (comma-separated), then `<category>` without `domain`/`scheme`;
  trimmed and de-duplicated in order. Genres: `media:category` and `itunes:category` (nested ones too).
- Credits: `media:credit` (with its role); when there is none, `itunes:author`, `dc:creator` or the Atom
  author become one credit with role `author`.
- Ratings: every `media:rating`, scheme default `urn:simple`; `itunes:explicit` adds
  `Rating("explicit" | "clean", scheme="urn:itunes:explicit")`.
- Geoblock: `media:restriction type="country"` (a missing type counts as country). Several allow lists are
  united, several deny lists too. When allow and deny both occur, deny wins: the asset is allowed in the allowed
  countries minus the denied ones. `allow all` / `deny none` mean no geoblock; `deny all` / `allow none` mean
  allowed nowhere (`Geoblock("allow", [])`). A code that is not two letters, or a relationship that is neither
  allow nor deny, fails the item: a wrong geoblock is worse than none.
- Identity: `guid`, else Atom `id`, else the item's link, else `"sha1:" + sha1(title, first media url,
  publication date)` (joined by U+001F). An item with none of these fails: a description alone would give an id
  that changes with every edit. A repeated id: the first item wins, later ones are reported once per id as an
  ItemFailure.
- Type: `default_type`, except items with `itunes:episode` or `itunes:episodeType` (-> `episode`, or `trailer`
  for `episodeType=trailer`), which also get `series` = channel title and `season`/`episode` numbers.
- custom: a child element of the item, group or content that no rule reads and that has no child elements of its
  own, keyed `prefix:local` with the usual prefix of well-known namespaces (`media`, `itunes`, `yt`, `dc`...),
  else the document's prefix, else the bare local name (RSS core elements such as `comments`). The value is its
  stripped text, else its `url`/`href` attribute; the first occurrence of a key wins and a more specific level
  wins. The item's link is kept as `custom["link"]`.
- Unparseable optional values (a date, a duration, a number) are dropped silently; the item still imports.
- Encodings: the XML declaration (or BOM) decides; when the document declares none, the charset of the HTTP
  Content-Type is used, by lxml and by feedparser.
"""
