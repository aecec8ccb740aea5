/**
 * The layer rule (scripts/layers.md explains it): src/ is a stack of floors and an import may only run
 * sideways or down. `npm run lint` runs this; violations that existed when a rule was added are listed
 * in .dependency-cruiser-known-violations.json and tolerated until fixed (`npm run lint:layers:baseline`
 * re-writes that list; it should only ever shrink).
 */

/** Bottom → top. A module on floor N may import floors 0..N, never N+1 and above. */
const floors = [
  { name: 'base', paths: ['^src/errors\\.ts$', '^src/version\\.ts$', '^src/lib/'] },
  { name: 'schemas', paths: ['^src/profiles/', '^src/config/'] },
  { name: 'sip', paths: ['^src/sip/'] },
  { name: 'capabilities', paths: ['^src/capabilities/'] },
  { name: 'watchers', paths: ['^src/watch/', '^src/cluster/', '^src/presence/', '^src/registration/', '^src/core-health/'] },
  { name: 'push', paths: ['^src/push/'] },
  { name: 'edges', paths: ['^src/intake/', '^src/ops/'] },
  { name: 'wiring', paths: ['^src/agent\\.ts$', '^src/wiring/'] },
  { name: 'cli', paths: ['^src/cli/', '^src/cli\\.ts$'] },
];

const everyFloor = floors.flatMap((f) => f.paths);

/** One rule per floor: nothing on it imports any floor above it. */
const upwardRules = floors.slice(0, -1).map((floor, i) => ({
  name: `no-upward-from-${floor.name}`,
  comment: `${floor.name} (${floor.paths.join(' ')}) is floor ${i}: it may import floors 0..${i} only`,
  severity: 'error',
  from: { path: floor.paths },
  to: { path: floors.slice(i + 1).flatMap((f) => f.paths) },
}));

module.exports = {
  forbidden: [
    ...upwardRules,
    {
      name: 'sip-imports-only-lib-errors-profiles',
      comment: 'the SIP engines are reusable below everything: they know the base floor and the SIP profiles, not the agent config',
      severity: 'error',
      from: { path: '^src/sip/' },
      to: { path: '^src/config/' },
    },
    {
      name: 'drachtio-not-embedded',
      comment: 'the two engines are alternatives behind one port: what both need lives in src/sip/, not in the other engine',
      severity: 'error',
      from: { path: '^src/sip/drachtio/' },
      to: { path: '^src/sip/embedded/' },
    },
    {
      name: 'embedded-not-drachtio',
      comment: 'the two engines are alternatives behind one port',
      severity: 'error',
      from: { path: '^src/sip/embedded/' },
      to: { path: '^src/sip/drachtio/' },
    },
    {
      name: 'no-circular',
      comment: 'an import circle makes a floor order impossible and start-up order fragile',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-test-or-bench',
      comment: 'the shipped code never depends on tests, their support or the benchmarks',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'every-src-module-on-a-floor',
      comment: 'a new folder under src/ gets a floor in .dependency-cruiser.cjs (and scripts/layers.md) before it is used',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: everyFloor },
    },
    {
      name: 'module-on-a-floor-imports',
      comment: 'a module outside every floor cannot be checked: give its folder a floor',
      severity: 'error',
      from: { path: '^src/', pathNot: everyFloor },
      to: { path: '^src/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(src|test|bench|scripts)/',
    // Type-only imports couple floors too: a lower floor naming a higher floor's type moves when it moves.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
