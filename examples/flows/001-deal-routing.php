<?php
// The route of the 001 document, completed: every step its excerpt refers to is defined, and the
// subsystems are Conveyor's built-in modules. `conveyor flow import` turns this into
// 001-deal-routing.yaml; `conveyor flow validate` accepts either file.
return [
    'id'          => '001-deal-routing',
    'name'        => 'Deal routing (001)',
    'description' => 'Find the contact and the deal of a request; load the deal, or prepare a lead; remember the deal.',
    'steps'       => [
        'bitrix-find-contact'            => [
            'id'        => 'bitrix-find-contact',
            'subsystem' => 'bitrix24.find-contact',
            'input'     => ['phone' => 'request.phone', 'email' => 'request.email'],
            'next'      => ['get-bitrix-deal'],
        ],
        'get-bitrix-deal'                => [
            'id'        => 'get-bitrix-deal',
            'subsystem' => 'bitrix24.find-deal',
            'input'     => ['contactId' => 'bitrix-find-contact.ID'],
            'next'      => ['remember-deal'],
            'prev'      => ['bitrix-find-contact'],
            'condition' => [
                [
                    'field'     => 'get-bitrix-deal.value',
                    'operation' => 'empty',
                    'success'   => [
                        [
                            'field'     => 'bitrix-find-contact.ID',
                            'operation' => 'empty',
                            'result'    => ['bitrix-lead-set-default-values'],
                        ],
                    ],
                ],
                [
                    'field'     => 'get-bitrix-deal.value',
                    'operation' => '!|empty',
                    'result'    => ['get-bitrix-deal-by-id'],
                ],
            ],
        ],
        'bitrix-lead-set-default-values' => [
            'id'        => 'bitrix-lead-set-default-values',
            'subsystem' => 'set',
            'options'   => ['values' => ['SOURCE_ID' => 'WEB', 'TITLE' => 'Request from the site']],
            'prev'      => ['get-bitrix-deal'],
            'next'      => ['remember-deal'],
        ],
        'get-bitrix-deal-by-id'          => [
            'id'        => 'get-bitrix-deal-by-id',
            'subsystem' => 'bitrix24.get-deal',
            'input'     => ['id' => 'get-bitrix-deal.value.ID'],
            'retry'     => ['attempts' => 3, 'backoffMs' => 500],
            'prev'      => ['get-bitrix-deal'],
            'next'      => ['remember-deal'],
        ],
        'remember-deal'                  => [
            'id'        => 'remember-deal',
            'subsystem' => 'set',
            'prev'      => ['get-bitrix-deal', 'bitrix-lead-set-default-values', 'get-bitrix-deal-by-id'],
        ],
    ],
];
