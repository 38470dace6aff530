require('../lib/cases.cjs').inspectCase('jest');
