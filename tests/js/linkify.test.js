// Links in message text: only http(s) URLs, cut where a sentence goes on, the rest as text.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { linkParts } from '../../src/hubbub/web/linkify.js';

const CASES = [
  ['no links here', [{ text: 'no links here' }]],
  [
    'see https://x.org/a.',
    [{ text: 'see ' }, { text: 'https://x.org/a', href: 'https://x.org/a' }, { text: '.' }],
  ],
  [
    '(https://en.wikipedia.org/wiki/Foo_(bar))',
    [
      { text: '(' },
      {
        text: 'https://en.wikipedia.org/wiki/Foo_(bar)',
        href: 'https://en.wikipedia.org/wiki/Foo_(bar)',
      },
      { text: ')' },
    ],
  ],
  [
    'HTTPS://Example.COM/a b',
    [{ text: 'HTTPS://Example.COM/a', href: 'https://example.com/a' }, { text: ' b' }],
  ],
  [
    'https://x.org/<script>',
    [{ text: 'https://x.org/', href: 'https://x.org/' }, { text: '<script>' }],
  ],
  ['javascript:alert(1) data:text/html,hi', [{ text: 'javascript:alert(1) data:text/html,hi' }]],
  ['http://[::1 is not a URL', [{ text: 'http://[::1 is not a URL' }]],
  [
    'two: http://a.example and https://b.example/?q=1!',
    [
      { text: 'two: ' },
      { text: 'http://a.example', href: 'http://a.example/' },
      { text: ' and ' },
      { text: 'https://b.example/?q=1', href: 'https://b.example/?q=1' },
      { text: '!' },
    ],
  ],
];

test('text is cut into plain pieces and links', () => {
  for (const [text, parts] of CASES) assert.deepEqual(linkParts(text), parts, text);
});

test('the pieces put together are the text exactly as written', () => {
  for (const [text] of CASES) {
    assert.equal(
      linkParts(text)
        .map((part) => part.text)
        .join(''),
      text,
    );
  }
  assert.deepEqual(linkParts(''), []);
});
