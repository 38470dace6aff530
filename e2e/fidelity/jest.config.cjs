// The corpus under stock Jest workers: the baseline that the nsbox run must match.
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/jest/**/*.test.{cjs,mjs,ts}'],
  transform: { '\\.[cm]?js$': 'babel-jest', '\\.ts$': 'ts-jest' },
  collectCoverageFrom: ['lib/math.cjs'],
  coverageReporters: ['text'],
  maxWorkers: 2,
  // Its own cache, so the outer test can drop the timings that would make stock Jest run in band.
  cacheDirectory: '<rootDir>/.jest-cache',
};
