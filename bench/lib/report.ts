/** Markdown tables for the console and docs/benchmarks.md. */

export function table(headers: string[], rows: (string | number)[][]): string {
  const head = `| ${headers.join(' | ')} |`;
  const rule = `|${headers.map(() => '---').join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Collects sections so run.ts can print them and also write a report file. */
export class Report {
  private readonly parts: string[] = [];

  section(title: string, body: string): void {
    const text = `\n### ${title}\n\n${body}\n`;
    this.parts.push(text);
    console.log(text);
  }

  note(text: string): void {
    this.parts.push(`\n${text}\n`);
    console.log(text);
  }

  text(): string {
    return this.parts.join('');
  }
}
