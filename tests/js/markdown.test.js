// Message formatting: the tree each construct parses to, the text that stays text, links
// that may not be links, and hostile input that must stay cheap and shallow.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  FOLD_CHARS,
  MAX_INLINE_DEPTH,
  MAX_PARSE_CHARS,
  MAX_QUOTE_DEPTH,
  isLong,
  measure,
  parse,
} from '../../src/hubbub/web/markdown.js';

// Shorthands for the expected trees.
const t = (text) => ({ type: 'text', text });
const p = (...children) => ({ type: 'paragraph', children: children.map(inline) });
const strong = (...children) => ({ type: 'strong', children: children.map(inline) });
const em = (...children) => ({ type: 'em', children: children.map(inline) });
const del = (...children) => ({ type: 'del', children: children.map(inline) });
const code = (text) => ({ type: 'code', text });
const link = (href, ...children) => ({ type: 'link', href, children: children.map(inline) });
const mention = (name) => ({ type: 'mention', name });
const quote = (...children) => ({ type: 'quote', children });
const block = (text, lang = null) => ({ type: 'code_block', lang, text });
const li = (children, list = null) => ({ children: [].concat(children).map(inline), list });
const ul = (...items) => ({ type: 'list', ordered: false, start: null, items });
const ol = (start, ...items) => ({ type: 'list', ordered: true, start, items });
const inline = (node) => (typeof node === 'string' ? t(node) : node);

/** The inline nodes of a message that is one paragraph. */
const inlines = (text) => {
  const tree = parse(text);
  assert.equal(tree.length, 1, `one paragraph: ${JSON.stringify(tree)}`);
  assert.equal(tree[0].type, 'paragraph');
  return tree[0].children;
};

/** Every node of `tree`, depth first, with its depth. */
function* walk(nodes, depth = 0) {
  for (const node of nodes) {
    yield [node, depth];
    const kids =
      node.children ?? node.items?.flatMap((item) => [...item.children, ...(item.list ? [item.list] : [])]);
    if (kids) yield* walk(kids, depth + 1);
  }
}

const textOf = (nodes) =>
  [...walk(nodes)]
    .map(([node]) => (node.type === 'mention' ? `@${node.name}` : (node.text ?? '')))
    .join('');

test('inline markers', () => {
  const cases = [
    ['plain text', [t('plain text')]],
    ['**bold** and __bold__', [strong('bold'), t(' and '), strong('bold')]],
    ['*it* and _it_', [em('it'), t(' and '), em('it')]],
    ['~~gone~~', [del('gone')]],
    ['***both*** ___both___', [em(strong('both')), t(' '), em(strong('both'))]],
    ['`code`', [code('code')]],
    ['**bold with *it* inside**', [strong('bold with ', em('it'), ' inside')]],
    ['_a **b** c_', [em('a ', strong('b'), ' c')]],
    ['**two\nlines**', [strong('two\nlines')]],
    ['(*aside*)', [t('('), em('aside'), t(')')]],
    ['"**quoted**"', [t('"'), strong('quoted'), t('"')]],
  ];
  for (const [text, expected] of cases) assert.deepEqual(inlines(text), expected, text);
});

test('markers against letters or digits, spaces, or without a partner stay text', () => {
  for (const text of [
    '2*3*4',
    '2 * 3 * 4',
    'snake_case_names',
    'call my_func_name() now',
    'a**b**c',
    '**unclosed',
    'unopened**',
    '*half open**',
    '~single~',
    '~~~three~~~',
    '** not bold **',
    '****',
    '*'.repeat(10),
    '_ _ _',
    'x ~ y ~ z',
  ]) {
    assert.deepEqual(inlines(text), [t(text)], text);
  }
  // One pair closes, the rest is text.
  assert.deepEqual(inlines('*a *b*'), [t('*a '), em('b')]);
  assert.deepEqual(inlines('**a *b** c*'), [strong('a *b'), t(' c*')]);
  // As on GitHub, a marker before punctuation closes: write file names as `code`.
  assert.deepEqual(inlines('__init__.py'), [strong('init'), t('.py')]);
});

test('code spans hold markers as written', () => {
  const cases = [
    ['`**not bold**`', [code('**not bold**')]],
    ['`a_b_c` and `<b>`', [code('a_b_c'), t(' and '), code('<b>')]],
    ['`` a `tick` inside ``', [code('a `tick` inside')]],
    ['` `', [code(' ')]],
    ['`unclosed **bold**', [t('`unclosed '), strong('bold')]],
    ['``two` one`', [t('``two'), code(' one')]],
    ['`https://x.org` @bob', [code('https://x.org'), t(' '), mention('bob')]],
    ['*`code` in it*', [em(code('code'), ' in it')]],
  ];
  for (const [text, expected] of cases) assert.deepEqual(inlines(text), expected, text);
});

test('a backslash makes the next punctuation plain', () => {
  assert.deepEqual(inlines('\\*not it\\*'), [t('*not it*')]);
  assert.deepEqual(inlines('\\`not code\\`'), [t('`not code`')]);
  assert.deepEqual(inlines('C:\\Users\\me'), [t('C:\\Users\\me')]); // not before punctuation
});

test('fenced code blocks are shown verbatim', () => {
  assert.deepEqual(parse('```\nlet x = **1**; // <b>\n  indented\n```'), [
    block('let x = **1**; // <b>\n  indented'),
  ]);
  assert.deepEqual(parse('before\n```python\nprint("hi")\n```\nafter'), [
    p('before'),
    block('print("hi")', 'python'),
    p('after'),
  ]);
  // A fence closes only with as many backticks; unclosed, it runs to the end.
  assert.deepEqual(parse('````\n```\nstill code\n````'), [block('```\nstill code')]);
  assert.deepEqual(parse('```\nno end\n> not a quote'), [block('no end\n> not a quote')]);
  // A language word that is not one is dropped; the code stays.
  assert.deepEqual(parse('```<script>\nx\n```'), [block('x')]);
  // Backticks on one line are a code span, not a fence.
  assert.deepEqual(parse('```one line```'), [p(code('one line'))]);
});

test('block quotes, nested and holding other blocks', () => {
  assert.deepEqual(parse('> quoted\n> still\nnot quoted'), [quote(p('quoted\nstill')), p('not quoted')]);
  assert.deepEqual(parse('>no space'), [quote(p('no space'))]);
  assert.deepEqual(parse('> outer\n> > inner'), [quote(p('outer'), quote(p('inner')))]);
  assert.deepEqual(parse('> - a\n> - **b**\n>   - c\n>\n> > q'), [
    quote(ul(li('a'), li(strong('b'), ul(li('c')))), quote(p('q'))),
  ]);
  assert.deepEqual(parse('> ```\n> **code**\n> ```'), [quote(block('**code**'))]);
});

test('bullet and numbered lists, one level of nesting', () => {
  assert.deepEqual(parse('- a\n* b\n+ c'), [ul(li('a'), li('b'), li('c'))]);
  assert.deepEqual(parse('1. one\n2. two\n   - sub a\n   - sub b\n3. three'), [
    ol(1, li('one'), li('two', ul(li('sub a'), li('sub b'))), li('three')),
  ]);
  assert.deepEqual(parse('3) three\n4) four'), [ol(3, li('three'), li('four'))]);
  // Deeper indentation stays at the one nested level.
  assert.deepEqual(parse('- a\n  - b\n    - c'), [ul(li('a', ul(li('b'), li('c'))))]);
  // An indented line continues the item; a blank line before another item keeps the list.
  assert.deepEqual(parse('- a\n  more of a\n\n- b'), [ul(li('a\nmore of a'), li('b'))]);
  // A list may follow a line of text directly; text after it ends it.
  assert.deepEqual(parse('todo:\n- x\n- y\ndone'), [p('todo:'), ul(li('x'), li('y')), p('done')]);
  // Bullets and numbers make two lists.
  assert.deepEqual(parse('- a\n1. b'), [ul(li('a')), ol(1, li('b'))]);
  // Not lists: no space after the marker, or a number too long.
  for (const text of ['-1 degrees', '+1 from me', '*emphasis*', '1234567890. big']) {
    assert.equal(parse(text)[0].type, 'paragraph', text);
  }
});

test('paragraphs keep their line breaks; blank lines separate them', () => {
  assert.deepEqual(parse('line one\nline two\n\n\nnext'), [p('line one\nline two'), p('next')]);
  assert.deepEqual(parse('\n\n  \n'), []);
  assert.deepEqual(parse(''), []);
  assert.deepEqual(parse('windows\r\nline ends'), [p('windows\nline ends')]);
  // No headings, tables or rules: shown as written.
  assert.deepEqual(parse('# not a heading\n| a | b |\n---'), [p('# not a heading\n| a | b |\n---')]);
});

test('links: bare URLs and [text](url)', () => {
  const cases = [
    ['see https://x.org/a.', [t('see '), link('https://x.org/a', 'https://x.org/a'), t('.')]],
    ['[the docs](https://x.org/docs)', [link('https://x.org/docs', 'the docs')]],
    ['[**bold** link](http://x.org)', [link('http://x.org/', strong('bold'), ' link')]],
    ['[mail me](mailto:a@b.example)', [link('mailto:a@b.example', 'mail me')]],
    [
      '[wiki](https://en.wikipedia.org/wiki/Foo_(bar))',
      [link('https://en.wikipedia.org/wiki/Foo_(bar)', 'wiki')],
    ],
    ['**https://x.org**', [strong(link('https://x.org/', 'https://x.org'))]],
    // Inside a link's text, URLs and mentions are text (no link in a link).
    ['[https://a.org @bob](https://b.org)', [link('https://b.org/', 'https://a.org @bob')]],
    ['[a [b](https://x.org)', [t('[a '), link('https://x.org/', 'b')]],
    ['[x] (https://x.org)', [t('[x] ('), link('https://x.org/', 'https://x.org'), t(')')]],
    ['[](https://x.org)', [t('[]('), link('https://x.org/', 'https://x.org'), t(')')]],
  ];
  for (const [text, expected] of cases) assert.deepEqual(inlines(text), expected, text);
});

test('mentions: @name and @room, not in words, code or links', () => {
  const cases = [
    ['@bob hi', [mention('bob'), t(' hi')]],
    ['hi @Bob.Smith-2, and @room!', [t('hi '), mention('Bob.Smith-2'), t(', and '), mention('room'), t('!')]],
    ['thanks @bob.', [t('thanks '), mention('bob'), t('.')]],
    ['(@bob)', [t('('), mention('bob'), t(')')]],
    ['**@bob**', [strong(mention('bob'))]],
    ['mail bob@example.org', [t('mail bob@example.org')]],
    ['@ bob, @-bob, @_bob', [t('@ bob, @-bob, @_bob')]],
    ['`@bob`', [code('@bob')]],
    [`@${'a'.repeat(32)}`, [mention('a'.repeat(32))]],
    [`@${'a'.repeat(33)}`, [t(`@${'a'.repeat(33)}`)]], // longer than a username
    ['@日本', [t('@日本')]],
  ];
  for (const [text, expected] of cases) assert.deepEqual(inlines(text), expected, text);
});

test('CJK text and emoji', () => {
  assert.deepEqual(inlines('这是**重要**的'), [t('这是'), strong('重要'), t('的')]);
  assert.deepEqual(inlines('日本語の_テスト_です'), [t('日本語の'), em('テスト'), t('です')]);
  assert.deepEqual(inlines('🎉 **party** 👩‍👩‍👧 ~~🙁~~'), [t('🎉 '), strong('party'), t(' 👩‍👩‍👧 '), del('🙁')]);
  assert.deepEqual(inlines('@bob🎉'), [mention('bob'), t('🎉')]);
  assert.deepEqual(parse('- 項目\n- 🍣'), [ul(li('項目'), li('🍣'))]);
});

// Everything here must come out as text (or a link to a safe URL), never as markup.
const XSS = [
  ['<script>alert(1)</script>', [t('<script>alert(1)</script>')]],
  ['<img src=x onerror=alert(1)>', [t('<img src=x onerror=alert(1)>')]],
  ['**<b>bold?</b>**', [strong('<b>bold?</b>')]],
  ['[x](javascript:alert(1))', [t('[x](javascript:alert(1))')]],
  ['[x](JaVaScRiPt:alert(1))', [t('[x](JaVaScRiPt:alert(1))')]],
  ['[x]( javascript:alert(1))', [t('[x]( javascript:alert(1))')]],
  ['[x](java\tscript:alert(1))', [t('[x](java\tscript:alert(1))')]],
  ['[x](&#106;avascript:alert(1))', [t('[x](&#106;avascript:alert(1))')]],
  ['[x](&#x6A;avascript&#58;alert(1))', [t('[x](&#x6A;avascript&#58;alert(1))')]],
  ['[x](javascript&colon;alert(1))', [t('[x](javascript&colon;alert(1))')]],
  ['[x](%6Aavascript:alert(1))', [t('[x](%6Aavascript:alert(1))')]],
  ['[x](data:text/html,<script>alert(1)</script>)', [t('[x](data:text/html,<script>alert(1)</script>)')]],
  ['[x](vbscript:msgbox(1))', [t('[x](vbscript:msgbox(1))')]],
  ['[x](//evil.example/a)', [t('[x](//evil.example/a)')]],
  ['[x](/relative)', [t('[x](/relative)')]],
  ['javascript:alert(1)', [t('javascript:alert(1)')]],
  // An image is not shown: the syntax is text, and the URL in it an ordinary link.
  [
    '![x](http://evil.example/a.png)',
    [t('![x]('), link('http://evil.example/a.png', 'http://evil.example/a.png'), t(')')],
  ],
  // Quotes in a URL are escaped by the URL parser; they cannot end an attribute.
  [
    '[x](http://a.example/"onmouseover="alert(1))',
    [link('http://a.example/%22onmouseover=%22alert(1)', 'x')],
  ],
  ["[x](http://a.example/'><script>)", [link("http://a.example/'%3E%3Cscript%3E", 'x')]],
  ['[<img src=x>](https://x.org)', [link('https://x.org/', '<img src=x>')]],
  [
    'https://x.org/"><img src=x onerror=alert(1)>',
    [link('https://x.org/', 'https://x.org/'), t('"><img src=x onerror=alert(1)>')],
  ],
];

test('hostile text: raw HTML is text, and only http(s)/mailto URLs become links', () => {
  for (const [text, expected] of XSS) assert.deepEqual(inlines(text), expected, text);
  const every = XSS.map(([text]) => text).join('\n\n');
  for (const [node] of walk(parse(every))) {
    assert.ok(['paragraph', 'text', 'strong', 'link'].includes(node.type), node.type);
    if (node.type === 'link') assert.match(node.href, /^https?:\/\//);
  }
});

test('the text shown is the text written, markers aside', () => {
  const cases = [
    ['a **b** _c_ `d` ~~e~~ https://x.org @bob', 'a b c d e https://x.org @bob'],
    ['2*3*4 snake_case **open', '2*3*4 snake_case **open'],
    ['这是**重要**的 🎉', '这是重要的 🎉'],
  ];
  for (const [text, shown] of cases) assert.equal(textOf(parse(text)), shown, text);
});

// --- bounded work --------------------------------------------------------------------------

const maxDepth = (tree) => Math.max(0, ...[...walk(tree)].map(([, depth]) => depth));

test('hostile input parses to a bounded tree', () => {
  // 10 000 asterisks (and other marker floods) are one run of text.
  assert.deepEqual(parse('*'.repeat(10_000)), [p('*'.repeat(10_000))]);
  assert.deepEqual(parse('_'.repeat(4000)), [p('_'.repeat(4000))]);
  assert.deepEqual(parse(`x${'`'.repeat(4000)}`), [p(`x${'`'.repeat(4000)}`)]);
  assert.deepEqual(parse('['.repeat(4000)), [p('['.repeat(4000))]);

  // Emphasis nested 1 000 deep: only MAX_INLINE_DEPTH levels are made, the rest is text.
  const nested = `${'**a '.repeat(1000)}x${' a**'.repeat(1000)}`;
  const tree = parse(nested);
  assert.equal(maxDepth(tree), MAX_INLINE_DEPTH + 1);
  assert.equal(textOf(tree).length, nested.length - 4 * MAX_INLINE_DEPTH);

  // Quotes 2 000 deep: MAX_QUOTE_DEPTH levels, the rest of the markers as text.
  const quotes = parse(`${'> '.repeat(2000)}x`);
  let depth = 0;
  for (let node = quotes[0]; node.type === 'quote'; node = node.children[0]) depth += 1;
  assert.equal(depth, MAX_QUOTE_DEPTH);

  // Lists indented ever deeper stay at two levels.
  const deep = Array.from({ length: 100 }, (_, i) => `${' '.repeat(i * 2)}- ${i}`).join('\n');
  const [list] = parse(deep);
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0].list.items.length, 99);
  assert.equal(list.items[0].list.items.every((item) => item.list === null), true);

  // Text longer than the parser takes is shown as it is.
  const huge = '**x** '.repeat(MAX_PARSE_CHARS / 5);
  assert.deepEqual(parse(huge), [p(huge)]);
});

test('a 4 000-character pathological body parses to a bounded tree, nothing paired', () => {
  const bodies = {
    openers: '*a _b **c __d ~~e `f [g @h '.repeat(150),
    closers: 'a* b_ c** d__ e~~ f` g] h) '.repeat(150),
    links: '[a](x'.repeat(800),
    urls: 'http://['.repeat(500),
    ticks: Array.from({ length: 1000 }, (_, i) => '`'.repeat((i % 7) + 1)).join('x'),
    quotes: Array.from({ length: 400 }, (_, i) => `${'> '.repeat(i % 9)}- x`).join('\n'),
  };
  for (const [name, body] of Object.entries(bodies)) {
    assert.ok(body.length >= 4000, name);
    const tree = parse(body);
    assert.ok(tree.length >= 1, name);
    assert.ok(maxDepth(tree) <= 2 * MAX_QUOTE_DEPTH + MAX_INLINE_DEPTH + 4, name);
  }
  // The shapes are as expected: nothing pairs, no link is made of the junk.
  const emphasis = [...walk(parse(bodies.openers))].filter(([n]) => ['strong', 'em', 'del'].includes(n.type));
  assert.deepEqual(emphasis, []);
  assert.deepEqual(parse(bodies.links), [p(bodies.links)]);
  assert.deepEqual(parse(bodies.urls), [p(bodies.urls)]);
});

test('long messages are measured for folding', () => {
  assert.equal(isLong(parse('short')), false);
  assert.equal(isLong(parse(Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n'))), false);
  assert.equal(isLong(parse(Array.from({ length: 21 }, (_, i) => `line ${i}`).join('\n'))), true);
  assert.equal(isLong(parse('x'.repeat(FOLD_CHARS))), false);
  assert.equal(isLong(parse('x'.repeat(FOLD_CHARS + 1))), true);
  assert.deepEqual(measure(parse('a\n\nb\n```\n1\n2\n```\n- i\n- j')), { lines: 9, chars: 7 });
});
