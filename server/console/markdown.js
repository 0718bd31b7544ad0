// Markdown as the knowledge base's articles use it, drawn as Preact elements (never as HTML
// text, so nothing in an article can run a script or change the page): headings, paragraphs,
// bulleted and numbered lists, fenced code, **bold**, *italic*, `code`, links to http(s)
// addresses only, and the article's own pictures (`![…](kb-image:SHA256)`, stored through the
// API). Anything else shows as the text it is.

import { h } from 'preact';

/** Inline marks of one line of text, as elements. */
function inline(text) {
  const out = [];
  const pattern = /(!\[([^\]]*)\]\(kb-image:([0-9a-f]{64})\)|\*\*([^*]+)\*\*|\*([^*]+)\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[3] !== undefined) out.push(h('img', { src: `/api/v1/files/${m[3]}`, alt: m[2], class: 'kb-picture', loading: 'lazy' }));
    else if (m[4] !== undefined) out.push(h('strong', null, m[4]));
    else if (m[5] !== undefined) out.push(h('em', null, m[5]));
    else if (m[6] !== undefined) out.push(h('code', null, m[6]));
    else if (/^https?:\/\//i.test(m[8])) out.push(h('a', { href: m[8], rel: 'noopener noreferrer', target: '_blank' }, m[7]));
    else out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** The blocks of a Markdown text, as elements. */
export function markdown(text) {
  const lines = (text || '').replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i += 1;
    } else if (line.startsWith('```')) {
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].startsWith('```')) code.push(lines[i++]);
      i += 1;
      blocks.push(h('pre', null, h('code', null, code.join('\n'))));
    } else if (/^#{1,6}\s/.test(line)) {
      const level = Math.min(line.match(/^#+/)[0].length + 2, 6);
      blocks.push(h(`h${level}`, null, inline(line.replace(/^#+\s+/, ''))));
      i += 1;
    } else if (/^\s*([-*]|\d+[.)])\s/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items = [];
      while (i < lines.length && /^\s*([-*]|\d+[.)])\s/.test(lines[i])) {
        items.push(h('li', null, inline(lines[i].replace(/^\s*([-*]|\d+[.)])\s+/, ''))));
        i += 1;
      }
      blocks.push(h(ordered ? 'ol' : 'ul', null, items));
    } else {
      const para = [];
      while (i < lines.length && lines[i].trim() !== '' && !/^(#{1,6}\s|```|\s*([-*]|\d+[.)])\s)/.test(lines[i])) {
        para.push(lines[i++]);
      }
      blocks.push(h('p', null, inline(para.join(' '))));
    }
  }
  return blocks;
}
