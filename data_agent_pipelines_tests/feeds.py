"""Small Media RSS documents built in tests."""

from __future__ import annotations

from xml.sax.saxutils import escape


def item(guid: str, title: str = "Title", *, extra: str = "", url: str | None = None) -> str:
    url = url or f"https://cdn.example.com/{guid}/master.m3u8"
    return f"""
    <item>
      <guid isPermaLink="false">{escape(guid)}</guid>
      <title>{escape(title)}</title>
      <description>About {escape(title)}</description>
      <pubDate>Tue, 03 Jun 2025 09:39:21 GMT</pubDate>
      <media:group>
        <media:content url="{escape(url)}" type="application/x-mpegURL" isDefault="true" duration="120"/>
        <media:content url="https://cdn.example.com/{escape(guid)}/720.mp4" type="video/mp4" bitrate="2500"
                       width="1280" height="720"/>
      </media:group>
      <media:thumbnail url="https://img.example.com/{escape(guid)}.jpg" width="640" height="360"/>
      <media:keywords>news, sport</media:keywords>
      {extra}
    </item>"""


def rss(*items: str, channel_extra: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dcterms="http://purl.org/dc/terms/"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
  <channel>
    <title>Test channel</title>
    <link>https://example.com/</link>
    <description>Test</description>
    {channel_extra}
    {"".join(items)}
  </channel>
</rss>
"""
