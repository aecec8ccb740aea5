/**
 * fast-xml-parser's validator messages in plain words for a PI reading a PAP 2000 answer: which element
 * is not closed, where. Pure. The messages it rewrites are the validator's own wording (fast-xml-parser
 * 5); anything not recognised passes through unchanged.
 */

export interface XmlValidatorError {
  msg: string;
  line: number;
}

/** `line` counts from the start of the whole control entity (the validator saw it without the prolog). */
export function describeXmlProblem(err: XmlValidatorError, lineOffset = 0): string {
  const line = err.line + lineOffset;
  const unclosed = /^Invalid '(\[.*\])' found\.$/s.exec(err.msg);
  if (unclosed) {
    let names: string[] = [];
    try {
      names = JSON.parse(unclosed[1] as string) as string[];
    } catch {
      // leave names empty: the generic sentence below still says what is wrong
    }
    const list = names.map((n) => `<${n}>`).join(', ');
    return `the document ends before ${list || 'some elements'} ${names.length === 1 ? 'is' : 'are'} closed (truncated?)`;
  }
  const single = /^Unclosed tag '([^']+)'\.$/.exec(err.msg);
  if (single) return `the document ends before <${single[1]}> (line ${line}) is closed (truncated?)`;
  const mismatch = /^Expected closing tag '([^']+)' \(opened in line (\d+), col \d+\) instead of closing tag '([^']+)'\.$/.exec(err.msg);
  if (mismatch) {
    return `<${mismatch[1]}> opened on line ${Number(mismatch[2]) + lineOffset} is not closed before </${mismatch[3]}> (line ${line})`;
  }
  if (err.msg === 'Multiple possible root nodes found.') return `more than one root element (a second one on line ${line})`;
  if (err.msg === 'Start tag expected.') return 'no element found: the control entity must be a <pap> document';
  if (err.msg === 'Extra text at the end') return `text after the root element ends (line ${line})`;
  return `${err.msg} (line ${line})`;
}
