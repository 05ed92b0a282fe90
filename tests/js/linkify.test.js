// Links in message text: bare URLs are only http(s), cut where a sentence goes on; a written
// link's URL may also be mailto:; every other scheme stays text.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { safeHref, urlAt } from '../../src/hubbub/web/linkify.js';

/** Every bare URL in `text`, as [index, text, href], scanning from left to right. */
function urls(text) {
  const found = [];
  for (let i = 0; i < text.length; i += 1) {
    const url = urlAt(text, i);
    if (url) {
      found.push([i, url.text, url.href]);
      i += url.text.length - 1;
    }
  }
  return found;
}

const CASES = [
  ['no links here', []],
  ['see https://x.org/a.', [[4, 'https://x.org/a', 'https://x.org/a']]],
  [
    '(https://en.wikipedia.org/wiki/Foo_(bar))',
    [[1, 'https://en.wikipedia.org/wiki/Foo_(bar)', 'https://en.wikipedia.org/wiki/Foo_(bar)']],
  ],
  ['HTTPS://Example.COM/a b', [[0, 'HTTPS://Example.COM/a', 'https://example.com/a']]],
  ['https://x.org/<script>', [[0, 'https://x.org/', 'https://x.org/']]],
  ['**https://x.org/a_b** and ~~https://y.org~~', [
    [2, 'https://x.org/a_b', 'https://x.org/a_b'],
    [28, 'https://y.org', 'https://y.org/'],
  ]],
  ['javascript:alert(1) data:text/html,hi', []],
  ['http://[::1 is not a URL', []],
  ['xhttp://glued.example is not one either', []],
  [
    'two: http://a.example and https://b.example/?q=1!',
    [
      [5, 'http://a.example', 'http://a.example/'],
      [26, 'https://b.example/?q=1', 'https://b.example/?q=1'],
    ],
  ],
];

test('bare URLs are found where they start, and cut where the sentence goes on', () => {
  for (const [text, expected] of CASES) assert.deepEqual(urls(text), expected, text);
});

test('a URL is looked for only where one starts', () => {
  assert.equal(urlAt('see https://x.org', 5), null); // inside the word "https"
  assert.equal(urlAt('', 0), null);
});

test('only http(s) is a bare link; a written link may also be mailto', () => {
  assert.equal(safeHref('https://x.org'), 'https://x.org/');
  assert.equal(safeHref('mailto:a@b.example'), null);
  assert.equal(safeHref('mailto:a@b.example', { written: true }), 'mailto:a@b.example');
  for (const text of [
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'data:text/html,<b>x</b>',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    '&#106;avascript:alert(1)',
    '/relative/path',
    'not a url',
  ]) {
    assert.equal(safeHref(text, { written: true }), null, text);
  }
});
