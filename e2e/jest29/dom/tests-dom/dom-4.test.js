require('../dom-case.cjs')(4);
