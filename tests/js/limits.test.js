// The client judges names and message bodies as the server does.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  MAX_BODY_CHARS,
  ROOM_NAME,
  USERNAME,
  bodyOf,
  charCount,
  groupDigits,
  isBlank,
} from '../../src/hubbub/web/limits.js';

const source = (path) => readFileSync(new URL(`../../src/hubbub/${path}`, import.meta.url), 'utf8');

function pythonValue(path, name) {
  const found = source(path).match(new RegExp(`^${name} = r?"?([^"\\n]+)"?$`, 'm'));
  assert.ok(found, `${name} not found in ${path}`);
  return found[1];
}

test('the bounds and patterns are the server\'s, character for character', () => {
  assert.equal(MAX_BODY_CHARS, Number(pythonValue('protocol/limits.py', 'MAX_BODY_CHARS')));
  assert.equal(USERNAME.source, `^${pythonValue('core/models.py', 'USERNAME')}$`);
  assert.equal(ROOM_NAME.source, `^${pythonValue('protocol/limits.py', '_ROOM')}$`);
});

test('names', () => {
  for (const name of ['alice', 'Alice.B-2', 'a', '9_lives', 'x'.repeat(32)]) {
    assert.ok(USERNAME.test(name), name);
  }
  for (const name of ['', '-alice', '.a', 'a b', 'x'.repeat(33), 'alice\n', 'dm:a:b']) {
    assert.ok(!USERNAME.test(name), JSON.stringify(name));
  }
  assert.ok(ROOM_NAME.test('general-2') && ROOM_NAME.test('r'.repeat(64)));
  for (const name of ['a.b', 'r'.repeat(65), '_x', 'den\n']) {
    assert.ok(!ROOM_NAME.test(name), JSON.stringify(name));
  }
});

test('length counts code points, as Python does', () => {
  assert.equal(charCount(''), 0);
  assert.equal(charCount('😀'), 1); // two UTF-16 units
  assert.equal(charCount('e\u0301'), 2); // a combining accent is a character of its own
  assert.equal(charCount('😀'.repeat(MAX_BODY_CHARS)), MAX_BODY_CHARS);
});

test("whitespace is Python's str.isspace()", () => {
  for (const text of ['', ' \t\n\r', '\u3000', '\u00a0', '\u2028', '\x1c\x1f', '\x85']) {
    assert.ok(isBlank(text), JSON.stringify(text));
  }
  // A zero-width space and a BOM are not whitespace to Python: such a body is sent.
  for (const text of ['\u200b', '\ufeff', ' a ']) assert.ok(!isBlank(text), JSON.stringify(text));
});

test('a body loses its trailing whitespace only', () => {
  assert.equal(bodyOf('  hi there \n\u3000'), '  hi there');
  assert.equal(bodyOf('line\n\nnext'), 'line\n\nnext');
});

test('numbers are grouped by three with a space', () => {
  assert.equal(groupDigits(999), '999');
  assert.equal(groupDigits(8000), '8 000');
  assert.equal(groupDigits(1234567), '1 234 567');
});
