require('../lib/cases.cjs').daemonCase();
