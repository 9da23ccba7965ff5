// Column alignment the way Go's text/tabwriter does it, because the docker CLI lays out
// its tables and `docker version` with it and we want the same bytes on screen.
// Cells are tab-terminated; the text after a line's last tab is not part of any column.
// A column's width is decided per "column block": the run of consecutive lines that have
// a cell in that column. Only left alignment and space padding are needed here.

export interface TabwriterOptions {
  /** Smallest cell width, padding included. */
  minWidth: number;
  /** Spaces added to the widest cell of a column. */
  padding: number;
}

/** docker's table formatter: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export const TABLE_LAYOUT: TabwriterOptions = { minWidth: 10, padding: 3 };

// Go counts runes, not UTF-16 units, so "µs" is two wide in both.
function textWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function tabwrite(text: string, opts: TabwriterOptions): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      out.push(cells.map((c, j) => (j < widths.length ? c + ' '.repeat(Math.max(0, widths[j]! - textWidth(c))) : c)).join(''));
    }
  };

  // Go's Writer.format: recurse into each column block, one column deeper each time.
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    let start = line0;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      writeLines(start, i);
      let width = opts.minWidth;
      let end = i;
      for (; end < line1 && column < lines[end]!.length - 1; end++) {
        width = Math.max(width, textWidth(lines[end]![column]!) + opts.padding);
      }
      widths.push(width);
      format(i, end);
      widths.pop();
      start = end;
      i = end - 1;
    }
    writeLines(start, line1);
  };

  format(0, lines.length);
  return out.join('\n');
}

/** Rows of cells as one aligned table, each line ending in a newline. */
export function formatTable(rows: readonly (readonly string[])[], opts: TabwriterOptions = TABLE_LAYOUT): string {
  if (rows.length === 0) return '';
  return tabwrite(rows.map((r) => r.join('\t')).join('\n'), opts) + '\n';
}
