'get-bitrix-deal'                             => [
            'id'        => 'get-bitrix-deal',
            'subsystem' => 'find-deal',
            'next'      => ['remember-deal'],
            'prev'      => ['prev-step'],
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
          ]
