/** The Bitrix24 module names, apart from their code: flow validation needs them without the connector. */
export const BITRIX24_MODULE_NAMES = ['bitrix24.find-contact', 'bitrix24.find-deal', 'bitrix24.get-deal', 'bitrix24.add-lead', 'bitrix24.add-deal', 'bitrix24.update-deal'] as const;
