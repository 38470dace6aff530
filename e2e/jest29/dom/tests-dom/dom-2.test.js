require('../dom-case.cjs')(2);
