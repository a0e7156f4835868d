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
      "created_at" : "le 2 novembre",
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
            "158765432