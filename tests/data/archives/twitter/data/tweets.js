window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1587654321098765432"
          ],
          "editableUntil" : "2022-11-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [
          {
            "text" : "Énergie",
            "indices" : [
              "0",
              "5"
            ]
          },
          {
            "text" : "climat",
            "indices" : [
              "0",
              "5"
            ]
          }
        ],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "52"
      ],
      "favorite_count" : "12",
      "id_str" : "1587654321098765432",
      "truncated" : false,
      "retweet_count" : "3",
      "id" : "1587654321098765432",
      "created_at" : "Wed Nov 02 09:15:00 +0000 2022",
      "favorited" : false,
      "full_text" : "Réunion publique à Nantes ce soir 🎉 #Énergie #climat",
      "lang" : "fr"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1587654321098765433"
          ],
          "editableUntil" : "2022-11-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Twitter",
            "screen_name" : "Twitter",
            "indices" : [
              "0",
              "5"
            ],
            "id_str" : "783214",
            "id" : "783214"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "43"
      ],
      "favorite_count" : "1",
      "id_str" : "1587654321098765433",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1587654321098765433",
      "created_at" : "Wed Nov 02 10:00:00 +0000 2022",
      "favorited" : false,
      "full_text" : "@Twitter merci pour la réponse, c'est réglé",
      "lang" : "fr",
      "in_reply_to_status_id_str" : "1587000000000000001",
      "in_reply_to_status_id" : "1587000000000000001",
      "in_reply_to_user_id" : "783214",
      "in_reply_to_user_id_str" : "783214",
      "in_reply_to_screen_name" : "Twitter"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1587654321098765434"
          ],
          "editableUntil" : "2022-11-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "jack",
            "screen_name" : "jack",
            "indices" : [
              "0",
              "5"
            ],
            "id_str" : "12",
            "id" : "12"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "34"
      ],
      "favorite_count" : "0",
      "id_str" : "1587654321098765434",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1587654321098765434",
      "created_at" : "Wed Nov 02 11:00:00 +0000 2022",
      "favorited" : false,
      "full_text" : "RT @jack: just setting up my twttr",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1587654321098765435"
          ],
          "editableUntil" : "2022-11-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : [
          {
            "url" : "https://t.co/lm1",
            "expanded_url" : "https://www.lemonde.fr/planete/article/2022/11/02/climat.html",
            "display_url" : "www.lemonde.fr/plane",
            "indices" : [
              "0",
              "23"
            ]
          },
          {
            "url" : "https://t.co/q1",
            "expanded_url" : "https://twitter.com/jack/status/20",
            "display_url" : "twitter.com/jack/sta",
            "indices" : [
              "0",
              "23"
            ]
          }
        ]
      },
      "display_text_range" : [
        "0",
        "53"
      ],
      "favorite_count" : "5",
      "id_str" : "1587654321098765435",
      "truncated" : false,
      "retweet_count" : "2",
      "id" : "1587654321098765435",
      "created_at" : "Wed Nov 02 12:00:00 +0000 2022",
      "favorited" : false,
      "full_text" : "Bien vu ! Voir aussi https://t.co/lm1 https://t.co/q1",
      "lang" : "fr"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1587654321098765436"
          ],
          "editableUntil" : "2022-11-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "43"
      ],
      "favorite_count" : "0",
      "id_str" : "1587654321098765436",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1587654321098765436",
      "created_at" : "Wed Nov 02 12:30:00 +0000 2022",
      "favorited" : false,
      "full_text" : "Suite du fil : les chiffres arrivent demain",
      "lang" : "fr",
      "in_reply_to_status_id_str" : "1587654321098765432",
      "in_reply_to_status_id" : "1587654321098765432",
      "in_reply_to_user_id" : "1234567890123456789",
      "in_reply_to_user_id_str" : "1234567890123456789",
      "in_reply_to_screen_name" : "LaureDupont"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1587654321098765437"
          ],
          "editableUntil" : "2022-11-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "European Commission",
            "screen_name" : "EU_Commission",
            "indices" : [
              "0",
              "5"
            ],
            "id_str" : "157981564",
            "id" : "157981564"
          },
          {
            "name" : "ADEME",
            "screen_name" : "ademe",
            "indices" : [
              "0",
              "5"
            ],
            "id_str" : "1403016162",
            "id" : "1403016162"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "45"
      ],
      "favorite_count" : "40",
      "id_str" : "1587654321098765437",
      "truncated" : false,
      "retweet_count" : "9",
      "id" : "1587654321098765437",
      "created_at" : "Thu Nov 03 08:00:00 +0000 2022",
      "favorited" : false,
      "full_text" : "Thanks @EU_Commission and @ademe for the data",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1587654321098765438"
          ],
          "editableUntil" : "2022-11-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : [],
        "media" : [
          {
            "expanded_url" : "https://twitter.com/LaureDupont/status/1587654321098765438/photo/1",
            "url" : "https://t.co/img1",
            "media_url_https" : "https://pbs.twimg.com/media/Fg.jpg",
            "id_str" : "1587654321000000001",
            "type" : "photo",
            "indices" : [
              "9",
              "32"
            ],
            "display_url" : "pic.twitter.com/img1"
          }
        ]
      },
      "display_text_range" : [
        "0",
        "26"
      ],
      "favorite_count" : "0",
      "id_str" : "1587654321098765438",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1587654321098765438",
      "created_at" : "Thu Nov 03 09:00:00 +0000 2022",
      "favorited" : false,
      "full_text" : "La carte https://t.co/img1",
      "lang" : "fr",
      "extended_entities" : {
        "media" : [
          {
            "expanded_url" : "https://twitter.com/LaureDupont/status/1587654321098765438/photo/1",
            "url" : "https://t.co/img1",
            "media_url_https" : "https://pbs.twimg.com/media/Fg.jpg",
            "id_str" : "1587654321000000001",
            "type" : "photo",
            "indices" : [
              "9",
              "32"
            ],
            "display_url" : "pic.twitter.com/img1"
          }
        ]
      }
    }
  }
]
