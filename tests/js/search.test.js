// Search results: a body cut into text and marked pieces at the server's ranges, which count
// code points (an emoji is one, though JavaScript strings count it as two).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { highlightPieces, queryLength } from '../../src/hubbub/web/search.js';

test('ranges cut a body into plain and marked pieces', () => {
  assert.deepEqual(highlightPieces('Lunch at noon? noon!', [[9, 13], [15, 19]]), [
    { text: 'Lunch at ', match: false },
    { text: 'noon', match: true },
    { text: '? ', match: false },
    { text: 'noon', match: true },
    { text: '!', match: false },
  ]);
  assert.deepEqual(highlightPieces('今天我们去吃饭', [[2, 5]]), [
    { text: '今天', match: false },
    { text: '我们去', match: true },
    { text: '吃饭', match: false },
  ]);
});

test('offsets count code points, so text after an emoji is marked right', () => {
  assert.deepEqual(highlightPieces('😀😀 <b>noon</b>', [[6, 10]]), [
    { text: '😀😀 <b>', match: false },
    { text: 'noon', match: true },
    { text: '</b>', match: false },
  ]);
  assert.equal(queryLength('😀ab'), 3);
});

test('ranges that do not fit the body are left out', () => {
  assert.deepEqual(highlightPieces('abc', [[1, 9], [2, 2]]), [{ text: 'abc', match: false }]);
  assert.deepEqual(highlightPieces('abcdef', [[3, 5], [1, 2]]), [
    { text: 'abc', match: false },
    { text: 'de', match: true },
    { text: 'f', match: false },
  ]);
});
