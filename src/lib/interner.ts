/**
 * A bounded table of shared values, each named by a small integer code (1..limit): a value that recurs in
 * many records (a rule id, a failure explanation, a list of push application ids) is kept once and the
 * records keep its code in a typed array. Bounded on purpose — values can come from the network — so
 * once full, `code()` answers 0 and the caller keeps the value itself.
 */
export class Interner<T> {
  private readonly codes = new Map<string, number>();
  private readonly values: T[] = [];

  constructor(private readonly limit: number) {}

  /** The code of `value` (under `key`, its identity), 1-based; 0 when the table is full and it is new. */
  code(key: string, value: T): number {
    const known = this.codes.get(key);
    if (known !== undefined) return known;
    if (this.values.length >= this.limit) return 0;
    this.values.push(value);
    this.codes.set(key, this.values.length);
    return this.values.length;
  }

  value(code: number): T {
    return this.values[code - 1];
  }
}
