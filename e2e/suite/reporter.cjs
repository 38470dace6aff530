// A custom reporter that records the per-test events Jest sends it, for the e2e test to read.
const fs = require('node:fs');

module.exports = class EventLog {
  constructor() {
    this.file = process.env.NSBOX_E2E_EVENTS;
    this.events = [];
  }
  onTestCaseResult(test, result) {
    this.events.push({ event: 'onTestCaseResult', file: test.path, title: result.title, status: result.status });
  }
  onTestFileResult(test, result) {
    this.events.push({ event: 'onTestFileResult', file: test.path, tests: result.testResults.length });
  }
  onRunComplete() {
    fs.writeFileSync(this.file, JSON.stringify(this.events));
  }
};
